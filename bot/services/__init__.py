"""Domain services: what Cultivate does, knowing nothing of HTTP or Block Kit."""
