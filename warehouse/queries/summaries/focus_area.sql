SELECT code FROM area_role WHERE role = 'focus'
