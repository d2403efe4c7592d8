// Connects like the apps do (websocket transport, auth.token), prints "connected", then on the first
// `availability:updated` for CONSULTANT fetches the slots of DATE at once and prints both as JSON.
// Usage: node listen.js BASE_URL TOKEN CONSULTANT_ID DATE
const { io } = require("socket.io-client");

const [baseUrl, token, consultantId, date] = process.argv.slice(2);
const socket = io(baseUrl, { auth: { token }, transports: ["websocket"], reconnection: false });

socket.on("connect", () => console.log(JSON.stringify({ connected: true })));
socket.on("connect_error", (error) => {
  console.log(JSON.stringify({ connect_error: error.message }));
  process.exit(2);
});
socket.on("availability:updated", async (payload) => {
  const id = payload.consultantId || payload.targetUserId;
  if (id !== consultantId) return;
  const url = `${baseUrl}/api/v1/appointments/available-slots?consultant=${consultantId}&date=${date}`;
  const reply = await fetch(url, { headers: { Authorization: `Bearer ${token}` } });
  const body = await reply.json();
  console.log(JSON.stringify({ event: payload, slots: body.data }));
  socket.close();
  process.exit(0);
});
setTimeout(() => {
  console.log(JSON.stringify({ timeout: true }));
  process.exit(3);
}, 20000);
