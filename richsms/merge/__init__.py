"""The merge-field contract shared by SMS (plain text) and landing pages (autoescaped
HTML): the fields a template reads (`fields`), where a recipient's come from (`contact`),
the budget of one render (`budget`) and the save-time checks of a template (`checks`)."""
