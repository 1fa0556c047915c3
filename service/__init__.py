"""Settings, composition root, CLI, logging and the demo."""
