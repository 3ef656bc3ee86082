// Two tabs talk over BroadcastChannel, as a browser's tabs of one origin can. Each tab announces
// itself (again every 10 ms while it waits, in case the other tab's channel did not exist yet) and
// answers every announcement it hears; a request succeeds only once this tab has heard another.
export function createClient() {
  const heard = []
  const channel = new BroadcastChannel('refresh-lab-test-tabs')
  channel.onmessage = (event) => {
    heard.push(event.data)
    if (event.data !== 'ack') channel.postMessage('ack')
  }
  channel.postMessage('hello')
  const waitForOther = async () => {
    for (let tries = 0; tries < 100 && heard.length === 0; tries += 1) {
      channel.postMessage('still here')
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
    if (heard.length === 0) throw new Error('heard no other tab')
    return { heard: heard.length }
  }
  return { request: waitForOther }
}
