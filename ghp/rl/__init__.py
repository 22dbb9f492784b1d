"""Training inside Stable-Baselines3: settings presets, callbacks, replay buffers, the train loop."""
