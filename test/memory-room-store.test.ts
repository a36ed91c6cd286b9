import { MemoryRoomStore } from "../src/store/memory/memory-room-store.js";
import { describeRoomStoreContract } from "./room-store-contract.js";

describeRoomStoreContract("memory", {
  open: async (clock, limits) => new MemoryRoomStore(clock, limits),
});
