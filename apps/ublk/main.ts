import { Y } from "@ublk-ts/rsrc";
console.log(Y);
