-- Named sets of areas: ranks are taken within a set (the 12 UK regions, the combined authorities),
-- and the bulletin's tables list the `bulletin` set in order.
CREATE TABLE area_set (
    set_name   VARCHAR NOT NULL,
    code       VARCHAR NOT NULL,
    sort_order INTEGER NOT NULL,
    PRIMARY KEY (set_name, code)
);
