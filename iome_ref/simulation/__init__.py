"""The closed energy-mobility loop run on a simulated city with habit-driven drivers."""
