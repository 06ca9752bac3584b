SELECT DISTINCT numerator_dataset FROM indicator
WHERE absent_numerator_is_zero AND numerator_dataset IS NOT NULL
