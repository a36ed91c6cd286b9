import { MemoryChannelStore } from "../src/store/memory/memory-store.js";
import { describeChannelStoreContract } from "./store-contract.js";

describeChannelStoreContract("memory", {
  open: async (clock, limits) => new MemoryChannelStore(clock, limits),
});
