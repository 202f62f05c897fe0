import { MemoryRiskStore } from '../../src/store/memory-store';
import { riskStoreContract } from './contract';

riskStoreContract('memory', () => new MemoryRiskStore());
