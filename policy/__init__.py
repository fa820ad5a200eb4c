"""Generic value-based RL (DQN, DDQ, world models, checkpoints). It knows nothing about debt collection."""
