import type { Target } from "./target.js";
export const sessionTargets: Target[] = [];
