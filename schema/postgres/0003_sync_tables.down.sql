DROP TABLE sync_mutations;
DROP TABLE sync_changes;
DROP TABLE sync_clock;
