"""Web helpers every blueprint shares: assets, security headers, errors, i18n, labels, form
fields, htmx fragments, role and district guards, paging."""
