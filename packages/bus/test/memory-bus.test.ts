import { MemoryBus } from '../src/index';
import { busContract } from './contract';

busContract('MemoryBus', () => new MemoryBus());
