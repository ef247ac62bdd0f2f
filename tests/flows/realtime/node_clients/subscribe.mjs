// Subscribe with a real npm client, print each result as one JSON line, stop after N.
// usage: node subscribe.mjs <graphql-ws|subscriptions-transport-ws> <ws url> <cookie> <count> <query> <variables-json>
import WebSocket from "ws";

const [protocol, url, cookie, count, query, variablesJson] = process.argv.slice(2);
const variables = JSON.parse(variablesJson);
const wanted = Number(count);
const headers = cookie ? { Cookie: cookie } : {};
class CookieWebSocket extends WebSocket {
  constructor(address, protocols) {
    super(address, protocols, { headers });
  }
}

let seen = 0;
function emit(result) {
  console.log(JSON.stringify(result));
  seen += 1;
  return seen >= wanted;
}

if (protocol === "graphql-ws") {
  const { createClient } = await import("graphql-ws");
  const client = createClient({ url, webSocketImpl: CookieWebSocket, retryAttempts: 0 });
  const stop = client.subscribe({ query, variables }, {
    next: (result) => { if (emit(result)) { stop(); client.dispose(); } },
    error: (error) => { console.error(JSON.stringify(error)); process.exit(2); },
    complete: () => {},
  });
} else {
  const { SubscriptionClient } = await import("subscriptions-transport-ws");
  const client = new SubscriptionClient(url, { reconnect: false }, CookieWebSocket);
  const observable = client.request({ query, variables });
  const subscription = observable.subscribe({
    next: (result) => { if (emit(result)) { subscription.unsubscribe(); client.close(); } },
    error: (error) => { console.error(JSON.stringify(error)); process.exit(2); },
  });
}
setTimeout(() => { console.error("timed out"); process.exit(3); }, 20000).unref();
