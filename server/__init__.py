"""Paydeck: a self-hostable payment platform with a developer dashboard."""
