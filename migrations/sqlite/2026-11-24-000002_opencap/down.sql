DROP TABLE signing_keys;
DROP TABLE cap_addresses;
DROP TABLE cap_users;
