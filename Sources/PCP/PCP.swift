public enum PCPModule {}
