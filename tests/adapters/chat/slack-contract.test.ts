import { chatAdapterContract } from '../../contracts/chat-adapter.ts';
import { slackHarness } from '../../fakes/slack/world.ts';

chatAdapterContract('slack', slackHarness, { staleControls: true, foreignTenants: true });
chatAdapterContract('slack', () => slackHarness({ oauth: true }), {
  staleControls: true,
  foreignTenants: true,
  installs: true,
});
