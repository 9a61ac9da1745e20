public enum PlainModeModule {}
