"""What a code is signed with and checked against: signing keys, paper codes, the trust list of
partner issuers."""
