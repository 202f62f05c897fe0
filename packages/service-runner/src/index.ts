export { runService, loadRunnerConfig, kafkaClientId, startFailureMessage, DEFAULT_SHUTDOWN_GRACE_MS, DEFAULT_SHUTDOWN_DRAIN_MS, EXIT } from './run-service';
export type { RunServiceOptions, RunnableService, RunnerConfig, ServiceContext, RunningService, BaseConfig } from './run-service';
