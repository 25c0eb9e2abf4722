import * as moqt from "../../src/browser.js";
console.log(moqt.Versions);
