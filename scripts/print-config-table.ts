// Prints the README's configuration table from the settings in src/server/config.ts.
import { configTable } from "../src/server/config.js";

process.stdout.write(configTable());
