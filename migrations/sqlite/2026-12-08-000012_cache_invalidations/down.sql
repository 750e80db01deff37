DROP TABLE cache_invalidations;
