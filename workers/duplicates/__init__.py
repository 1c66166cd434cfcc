"""Likely duplicates: the same person registered twice (DOMAIN.md "Duplicates").

- names.py: Indonesian name normalisation (titles, bin/binti, Muhammad variants, old spellings);
- keys.py: the exact keys (NIK, KK, phone, NIK halves) as keyed digests: the ONE place a key is
  made, so moving to the privacy blind index is one edit;
- scoring.py: a pair's score and reasons (rapidfuzz), weights and threshold from settings;
- finder.py: candidates found in the database set-wise for a whole save, pairs stored;
- services.py / selectors.py: review (list, merge, dismiss) and the "already registered?" lookup.
"""
