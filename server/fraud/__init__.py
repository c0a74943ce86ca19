"""Risk evaluation: the signal catalogue, the rule language, velocity windows and IP geolocation."""
