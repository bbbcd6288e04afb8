"""newsroom: published articles in, email digests and social posts out."""
