"""Configuration as code: `hub apply FILE.yaml` and `hub export`.

schema (the file's keys) and loader (read, substitute ${NAME}, check the shape) are pure; plan
compares with the database and validates with the models' full_clean (reads only); apply
carries a plan out in one transaction; export writes the database back in the same format.
Nothing is imported here, so the pure modules load without Django.
"""
