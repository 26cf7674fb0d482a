console.log("ublk: not yet");
