DROP INDEX aliases_by_expiry;
DROP TABLE jobs;
