// Entry point: registers the pages with the shell and starts it. Each page is one module
// under pages/ that composes the components under components/.
import { route, setNav, start } from "./components/shell.js";
import { signInPage } from "./pages/signin.js";
import { projectsPage, projectPage } from "./pages/projects.js";
import { pipelinePage } from "./pages/pipeline.js";
import { runPage } from "./pages/run.js";
import { ontologyPage } from "./pages/ontology.js";
import { tablePage } from "./pages/table.js";
import { twinPage } from "./pages/twin.js";
import { modelsPage, modelPage } from "./pages/models.js";
import { alertsPage } from "./pages/alerts.js";
import { tokensPage } from "./pages/tokens.js";
import { systemPage } from "./pages/system.js";
import { operationsPage, operationsIndex } from "./pages/operations.js";

route("/", projectsPage);
route("/signin", signInPage);
route("/projects/:project", projectPage);
route("/projects/:project/pipelines/:name", pipelinePage);
route("/projects/:project/pipelines/:name/runs/:run", runPage);
route("/projects/:project/ontologies/:name", ontologyPage);
route("/projects/:project/tables/:table", tablePage);
route("/projects/:project/twins", twinPage);
route("/projects/:project/models", modelsPage);
route("/projects/:project/models/:name", modelPage);
route("/projects/:project/alerts", alertsPage);
route("/tokens", tokensPage);
route("/system", systemPage);
route("/operations", operationsIndex);
route("/operations/:tag", operationsPage);

setNav([
  { label: "Projects", href: "/" },
  { label: "Tokens", href: "/tokens" },
  { label: "System", href: "/system" },
  { label: "All operations", href: "/operations" },
]);
start();
