"""`rrm demo`: a controller and a fleet of edge agents on a simulated building, end to end."""
