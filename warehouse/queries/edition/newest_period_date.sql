SELECT max(period_date) FROM indicator_value
