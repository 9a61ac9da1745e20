/// PacketPlane owns what plainmode does with packets the kernel queues to it (NFQUEUE): the
/// read-only SYN gate in front of the MPTCP listeners (PM validation, allow-list, per-CPE limits;
/// a SYN is accepted unchanged or dropped, never modified). Decisions are pure functions of the
/// packet bytes, the settings and the limiter state; time comes in from the caller.
public enum PacketPlaneModule {}
