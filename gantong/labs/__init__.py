"""Labs: their accounts, API tokens and the test results they post (issue 22)."""
