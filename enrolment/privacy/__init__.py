"""Data-subject rights (UU 27/2022, API.md "Privacy"): everything held on one person, who
touched them, erasure and restriction of processing."""
