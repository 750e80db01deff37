DROP TABLE passcode_failures;
