public enum PortSetsModule {}
