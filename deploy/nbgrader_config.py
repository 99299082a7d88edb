"""nbgrader's configuration for grading the course's exercises: copy it into the course folder.

    mkdir -p /srv/nbgrader/fm/source/ps63 && cd /srv/nbgrader/fm
    cp /opt/flow-matching/src/deploy/nbgrader_config.py .
    cp /opt/flow-matching/src/solutions/6_3_mathematical_foundations.ipynb source/ps63/
    nbgrader generate_assignment ps63 --create
    nbgrader db student import /etc/jupyterhub/class.csv   # or: nbgrader db student add NAME
    # after deploy/collect.py collect ...:
    nbgrader autograde ps63 && nbgrader generate_feedback ps63

Run nbgrader as an unprivileged grading user, not as root: autograding executes the students'
code. The exchange is not used (homes are private); deploy/collect.py copies submissions in and
feedback out. tests/hub/test_collect.py grades a simulated class with this file.
"""

import os

c = get_config()  # noqa: F821

c.CourseDirectory.course_id = os.environ.get("FM_COURSE_ID", "flow-matching")
c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))  # noqa: F821 (the loader's)

# A cell's time limit, sized from the notebooks' budget: every notebook's closing cell checks
# that the whole notebook needs at most 60 s of CPU at full speed (fm.runtime), so no cell needs
# more; a grading machine busy with forty submissions runs up to a few times slower. nbgrader's
# default (30 s) would cut off a training cell on a busy machine and cost the student a point.
c.ExecutePreprocessor.timeout = 300
c.Execute.timeout = 300
c.ExecutePreprocessor.interrupt_on_timeout = True
# one torch thread per kernel, as in the students' servers
os.environ.setdefault("OMP_NUM_THREADS", "1")

# The deadline: `nbgrader db assignment add ps63 --duedate="2026-12-10 09:00 Europe/Berlin"`.
# collect.py writes each submission's real modification time, so nbgrader records how late each
# one is; no points are taken off automatically (say "zero" to give late work no points).
c.LateSubmissionPlugin.penalty_method = "none"
