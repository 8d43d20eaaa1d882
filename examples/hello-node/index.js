// The sample function that `npm run up` deploys. It greets whoever the event
// names, and counts its invocations in module scope: the count grows while
// the same warm sandbox serves the calls.
let invocations = 0;

export const handler = async (event, context) => {
  invocations += 1;
  const name = event?.name ?? event?.query?.name ?? 'world';
  return {
    message: `Hello, ${name}!`,
    invocations,
    callId: context.callId,
  };
};
