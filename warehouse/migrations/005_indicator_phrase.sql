-- How the bulletin's sentences name each indicator.
ALTER TABLE indicator ADD COLUMN phrase VARCHAR;
