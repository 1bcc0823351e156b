"""GitHub (github.com and GitHub Enterprise Server): deliveries, events, REST client."""
