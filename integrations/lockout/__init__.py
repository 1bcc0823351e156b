"""Login protection with django-axes: failed admin logins are counted per username and client
address, and past the limit that pair is paused for a cool-off (settings: "Login
protection"; docs/security.md says why this way)."""
