/** The product version, printed by `--version` and reported on the status routes. */
export const VERSION = "0.1.0";
