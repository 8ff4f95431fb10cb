"""The statistics behind drift reports, each checked against scipy in the tests."""
