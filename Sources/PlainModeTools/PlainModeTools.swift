public enum PlainModeToolsModule {}
