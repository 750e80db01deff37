//! Regrouping of 5-bit symbols (base32 characters) into bytes, most significant bit first.

/// Collects groups of up to 8 bits into bytes.
#[derive(Debug, Default)]
pub(super) struct BitPacker {
    /// Bits not yet in a byte, in the low `pending` bits.
    acc: u32,
    /// How many bits `acc` holds, always fewer than 8 between calls.
    pending: u32,
    bytes: Vec<u8>,
}

impl BitPacker {
    /// An empty packer with room for `bytes` bytes.
    pub(super) fn with_capacity(bytes: usize) -> Self {
        BitPacker {
            bytes: Vec::with_capacity(bytes),
            ..Self::default()
        }
    }

    /// Appends the low `width` bits of `value` (`width` ≤ 8).
    pub(super) fn push(&mut self, value: u8, width: u32) {
        let width = width.min(8);
        let mask = (1u32 << width) - 1;
        self.acc = (self.acc << width) | (u32::from(value) & mask);
        self.pending += width;
        while self.pending >= 8 {
            self.pending -= 8;
            self.bytes.push((self.acc >> self.pending) as u8);
            self.acc &= (1u32 << self.pending) - 1;
        }
    }

    /// The whole bytes, and the bits left over: how many, and their value.
    pub(super) fn finish(self) -> (Vec<u8>, u32, u32) {
        (self.bytes, self.pending, self.acc)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packs_most_significant_first() {
        let mut p = BitPacker::with_capacity(2);
        // 10101 01010 11111 1 = 1010_1010 1011_1111 + nothing left.
        p.push(0b10101, 5);
        p.push(0b01010, 5);
        p.push(0b11111, 5);
        p.push(0b1, 1);
        assert_eq!(p.finish(), (vec![0b1010_1010, 0b1011_1111], 0, 0));

        let mut p = BitPacker::with_capacity(1);
        p.push(0b11111, 5);
        p.push(0b00011, 5);
        assert_eq!(p.finish(), (vec![0b1111_1000], 2, 0b11));
    }
}
