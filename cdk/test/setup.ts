// Every test synthesises against the fixture release (./fixture.ts) unless it says otherwise.
import { fixtureRelease } from './fixture';

process.env.CF_INVALIDATE_LAMBDA_ZIPS = fixtureRelease();
