"""A campaign's A/B test: what the marketer asks (`spec`), the draw and the test
recipients' planning (`planner`), the figures and the decision (`decision`, by the
two-proportion test of `two_proportions`)."""
